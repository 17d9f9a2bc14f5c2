"""Calendar feeds (S9), all in one place but their HTTP routes (api/web/routes/feeds.py) and their token
table (models/calendar_token.py): whose sessions and aftercare days a feed holds, and for whom (`service`),
the secret URLs calendar apps subscribe to (`tokens`), a feed's items (`events`), written as RFC 5545
text (`ical`)."""
