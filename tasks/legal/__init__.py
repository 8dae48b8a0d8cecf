"""Legal documents citizens accept (the user agreement, the personal-data consent): their versions and the
record of every acceptance."""
