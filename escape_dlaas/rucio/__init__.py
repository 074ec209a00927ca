"""Blocking access to Rucio through rucio-clients: the client, the gateway, and its errors in plain words."""
