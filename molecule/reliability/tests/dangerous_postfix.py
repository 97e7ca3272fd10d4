"""Issue 12: well-formed but dangerous postfix role input, refused unless opted in.

Each case is (variable named in the error, role, variables), as ROLE_CASES in
test_bad_input.py, which runs them with the other malformed inputs.
"""

CASES = []
