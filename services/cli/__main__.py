"""``python -m services.cli``: the same command line as the `guanjia` console script.

`up` starts its children this way (``sys.executable -m services.cli serve|worker``), so the
command works from a checkout without the package installed.
"""

from services.cli.parser import main

if __name__ == "__main__":
    raise SystemExit(main())
