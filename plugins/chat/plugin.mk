# chat plugin: nothing beyond the SDK (json-c comes with the host).
chat_LIBS :=
