"""Stand-in for the get-pip.py that ansible-test downloads from a host CI cannot reach.

ansible-test runs this file as ``__main__`` inside a fresh, pip-less venv with
pip's install arguments (for example ``pip==24.2 --no-setuptools``). We seed
the venv with the pip that CPython bundles (ensurepip), then let that pip
install what was asked for from the package index we can reach.
"""
import ensurepip
import os
import subprocess
import sys


def main():
    ensurepip.bootstrap(upgrade=False, default_pip=True)
    # ensurepip points PIP_CONFIG_FILE at /dev/null in our own environment; the
    # host's pip.conf (index mirrors, CA bundle) must apply to the real install.
    os.environ.pop('PIP_CONFIG_FILE', None)
    args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
    subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)


if __name__ == '__main__':
    main()
