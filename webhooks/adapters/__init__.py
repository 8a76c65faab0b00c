"""One module per platform behind the `PlatformAdapter` interface of `base`; `registry` maps names to them."""
