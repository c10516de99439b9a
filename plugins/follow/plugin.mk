# follow plugin: nothing beyond the SDK (json-c comes with the host).
follow_LIBS :=
