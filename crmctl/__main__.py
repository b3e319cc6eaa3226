"""``python -m crmctl``: the same entry point as the ``crmctl`` script."""

from crmctl.cli import main

if __name__ == "__main__":
    main()
