"""The search engine behind the Search API and the Media Library's search box.

``parser`` reads Cloudinary's expression language into an AST, ``query`` turns the AST
into a Django ``Q`` on ``Asset``, ``text`` handles free-text words, ``run`` executes a
search (sort, keyset cursors, aggregations).
"""

from .parser import ExpressionError, is_expression, parse  # noqa: F401
