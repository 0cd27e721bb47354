"""Lambda entry points: thin. Parse the event, call one logic function, return a JSON-able dict."""
