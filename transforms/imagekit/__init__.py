"""ImageKit's URL dialect (``/ik/<cloud>/tr:w-300/<path>``, ``?tr=w-300``): its grammar read
into the engine's Plan on top of the Cloudinary dialect, so an ImageKit URL and its Cloudinary
twin share one derived-cache entry."""
