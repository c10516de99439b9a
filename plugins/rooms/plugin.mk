# rooms plugin: nothing beyond the SDK (json-c comes with the host).
rooms_LIBS :=
