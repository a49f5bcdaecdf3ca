"""Which fields are secrets by their name: what an answer for a caller without passwords
(a viewer, an operator, labstaff about another's lab) leaves out or masks. One list for
the access check's last guard (`access.without_passwords`) and the show texts
(`view.describe`, `secrets=False`)."""

from __future__ import annotations

import re

# passwords (ROOT_PW, admin_password), keys and tokens (secret_access_key, admin_key,
# access_token), user-data (a template's USERDATA, a host's --userdata-var values)
_SECRET = re.compile(r"pass(word|wd)?|secret|token|private|user_?data|admin_key|key_?data|"
                     r"credential|(^|_)pw$", re.IGNORECASE)
HIDDEN = "(hidden)"


def is_secret(name: object) -> bool:
    """Whether a field, attribute or setting called `name` holds a secret."""
    return isinstance(name, str) and bool(_SECRET.search(name))
