"""The plugin kernel: what a component is, how it is found, and how a spec names it.

``interfaces`` (data types, one Protocol per kind, the ``KINDS`` table),
``capabilities`` (optional Protocols a component may add), ``hookspecs``
(derived from ``KINDS``), ``plugin_host`` (discovery, registries, ``build``),
``spec`` (TOML -> validated ``LoadedSpec``; ``spec_schema`` its models), ``cache`` (content-addressed
artifacts), ``errors`` (user errors: one line, exit 2), plus services any plugin
may use: ``audio`` (one decoding path), ``devices`` (one device choice),
``progress`` (one progress vocabulary). Nothing here imports torch at module level.
"""
