"""Cloudinary's URL dialect: delivery paths, transformation grammar, named
transformations and signatures, read into the engine's Plan (transforms.plan).

Nothing in the engine (plan, executor, pipeline, derived cache, operations) imports
this package: another dialect builds the same Plan from its own grammar and lands in
the same derived-cache entries.  `entry.from_path`/`entry.from_text` are the way in.
"""
