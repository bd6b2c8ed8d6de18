"""The decision engine, as the steps of the model: a scenario in, sized and costed options and a reasoned
recommendation out.

A pure model (no ipywidgets, altair or IPython). Everything it knows comes from the catalog; everything it
assumes is a catalog figure with a source or a marked estimate (``catalog/assumptions``). The core is
vectorised over devices and over any grid of request volumes and model-change rates, so one evaluation of
the whole catalog, a crossover search and a break-even map are all a few array operations.

Read the modules in this order; each is one step:

``request``      what one request of the workload asks of a device: bytes per parameter, working set,
                 on-chip fit, DRAM traffic;
``roofline``     peaks per precision, the compute and memory ceilings, the roofline;
``serving``      an LLM request in tokens: prefill, decode, KV cache, latency target (an LLM's roofline);
``serving_catalog`` the same on catalog rows and scenarios: one device's capacity, a scenario's request;
``calibration``  measured results against their roofline, the fitted efficiency, the throughput estimate;
``placement``    devices per model copy, and which devices each deployment can use and why not;
``power``        server classes, power at the wall (measured energy where the catalog has it);
``cost``         cheapest cloud offers, purchase prices, framework support, per-device cost rates;
``devices``      the per-workload device table that gathers the steps above, cached per catalog;
``assumptions``  the catalog assumptions the model reads, in the units it needs;
``inputs``       a scenario resolved against the catalog (prices, PUE, assumptions, with their origin);
``fleet``        the vectorised core: fleet sizing, training, power, energy, cost, per device;
``sweep``        the volume sweep, the crossover and the break-even map over the fields' bounds;
``results``      what an evaluation returns (Option, Recommendation, Baseline, EvaluationResult);
``words``        the recommendation's reasons, in words that match the figures;
``evaluate``     one evaluation of a scenario over the whole catalog;
``cache``        the per-catalog cache every cached step uses (weak references to the catalog).

``explorer.calc`` re-exports the public names of these modules (``from explorer import calc``;
``calc.evaluate``) and holds no logic of its own.

The model, per device d serving workload w:


* throughput: the measured result per accelerator where the catalog has one (Offline scenario first),
  else a roofline estimate, 1 / max(compute / peak, traffic / bandwidth), times an efficiency factor
  fitted on the measured results of w (the geometric mean of measured / roofline; all workloads' results
  where w has none). The peak is the device's at the precision the work runs in; the DRAM traffic is
  dropped when the request's weights and activations fit in the device's on-chip memory (L2 cache or
  SRAM), and cut to the weights shared by a batch of n when only the peak activations of n requests
  fit (the largest layer's input and output plus a kept residual; ``dram_traffic_mb``). Each measured
  result is compared with the roofline of what it ran (``run_formats``: its stated compute and storage
  formats; else the workload's; else, for a run above that ceiling, the widest format the device
  publishes a peak for that holds it), so the fitted factor measures software efficiency, not a
  precision mismatch; a run still above its ceiling counts at 1. The factor (one result per measured
  device, those at the estimate's precision where two or more devices ran at it) is never above 1, so
  an estimate never exceeds min(compute ceiling, memory ceiling) at the precision it runs in, nor (a
  workload's own request) a device of its vendor measured in the same formats that has at least its peak,
  bandwidth and memory (``siblings``). The model, validation and the uncertainty ranges call the same
  estimator (``estimate_throughput``);
* an LLM's throughput is its serving capacity in tokens (``serving``): prefill at the compute peak, and
  decode steps that each take the serving stack's fixed time (per layer, ``decode_step_fixed_per_layer``),
  the weights read at the rated bandwidth, and every sequence's KV cache and maths (and, for a measured
  device whose stack has one, its time per sequence: ``decode_sequence_fixed_per_layer_<device>``; a copy
  past its scale-up domain, a PCIe card's split over its instance or server, its all-reduces over the
  host's PCIe: ``serving.PcieLink``); the
  batch is the
  largest the memory left for KV cache and the latency target allow. Under a latency bound each sequence's
  reads run at the efficiency MLPerf's latency-bound runs show (``decode_memory_efficiency``); a batch
  reads at the Offline efficiency above. A measured device is its measurement scaled by the model; under a
  bound, by what the model misses at its own latency-bound results where it has them
  (``calibration.latency_knots``: at a result's conditions the tool gives that result). A bound starts
  at the batch figure and never rises above it (``serving_catalog.serve``), nor above the figure of its
  vendor's device with at least its specs whose own results reach nearer the request
  (``siblings.held_at_siblings``);
* fleet: enough devices to carry the peak at the target utilisation, in whole model replicas (a model
  that does not fit one device's memory spans several) and, in the cloud, whole instances; on bare metal
  whole servers plus the spare servers (N+1 by default), in racks under the rack kW;
* training (the training share of all compute) runs on devices that train (catalog ``trains``: GPUs,
  TPUs, Trainium, Gaudi): its elastic share runs preemptibly in the serving fleet's idle capacity where
  that device trains (at the preemption/checkpoint efficiency), the rest on a dedicated fleet of the
  cheapest device that trains; a plan is hybrid where that fleet is of the other kind;
* power: rated power x (idle share + (1 - idle share) x average load) at the device; at the server wall
  the measured energy per request where the catalog has an MLPerf Power result for the device and
  workload, else a model per server class (8-way baseboard, PCIe server, TPU/Trainium host, edge board,
  edge add-in with its host; ``wall_power``): average (energy) and provisioned (rated) power; then x PUE;
* cost: cloud rental per chip-hour (electricity included in the price), or purchase (plus the server
  around the devices on bare metal, replaced after the hardware lifetime) plus electricity; plus porting:
  engineer-days by framework support level, weighted by the framework mix, repeated in part at every
  model change.
"""
