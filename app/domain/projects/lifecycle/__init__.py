"""A project's lifecycle: phases, the gates into them, closing, reopening and handing over."""
