"""What the tests share: receivers, mail, users, the web client, scenario helpers."""
