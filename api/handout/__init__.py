"""The printable aftercare handout (S11): one self-contained HTML page, rendered by Jinja2."""
