"""The project's own exceptions; driver errors are translated into these at one boundary."""


class SafeCampusError(Exception):
    """Base class for SafeCampus errors."""


class SettingsError(SafeCampusError):
    """Settings failed validation; the message names each bad variable."""


class ContractError(SafeCampusError):
    """An MQTT topic or payload breaks the documented contract."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DatabaseUnavailableError(SafeCampusError):
    """The database cannot be reached right now; the caller may retry."""


class MigrationError(SafeCampusError):
    """A schema migration failed."""


class ServiceStartError(SafeCampusError):
    """An embedded service (PostgreSQL, MQTT broker) could not be started."""


class BrokerUnavailableError(SafeCampusError):
    """The MQTT broker cannot be reached or refused us."""


class BatchRejectedError(SafeCampusError):
    """The database refused a batch for its content (not for being down): split it and retry."""
