"""gunicorn settings, read from the working directory by every ``gunicorn config.wsgi`` run
(the Procfile, ./dam start, the README's production command, the benchmarks); the
command line still sets the bind address and the number of workers."""

import os

# Threads per worker: kept-alive connections (a browser or CDN fetching many images) are
# served without reconnecting, and a request waiting on the database or on storage does
# not hold the whole process; renders are bounded per process by DAM_MAX_CONCURRENT_RENDERS.
worker_class = "gthread"
threads = int(os.environ.get("DAM_WEB_THREADS") or 4)
keepalive = 5
