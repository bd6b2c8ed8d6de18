"""The GPU-vs-accelerator deployment explorer: catalog -> calc -> charts -> widgets -> app.

Importing the package changes nothing global; what a process's entry point does first is in
`explorer.startup`.
"""
