"""The web layer: the Jupyter server extension, its REST handlers, the error→HTTP map and the OpenAPI file."""
