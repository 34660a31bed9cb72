"""Built-in systems that are recipes of their own (one sub-package each), registered through the same
``systems`` entry point as any third-party system."""
