"""MQTT: the topic and payload contract, the client link, its buffered receive path, the broker ACL."""
