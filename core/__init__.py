"""The framework-free core, the bottom layer: Cloudinary's error types and the process
helpers every other package uses.  It imports no other first-party package and no
Django REST framework (pyproject's import-linter contracts hold it to that), so the
asset layer, the engine, the refiners, the Studio and the server configuration can all
build on it without importing each other the wrong way.
"""
