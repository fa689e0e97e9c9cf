"""Heat's actions and statuses, for stacks and resources (shown joined as "<ACTION>_<STATUS>")."""

INIT, CREATE, UPDATE, DELETE, ROLLBACK = "INIT", "CREATE", "UPDATE", "DELETE", "ROLLBACK"
SUSPEND, RESUME, CHECK, SIGNAL = "SUSPEND", "RESUME", "CHECK", "SIGNAL"
ADOPT, SNAPSHOT, RESTORE = "ADOPT", "SNAPSHOT", "RESTORE"
ABANDON = "ABANDON"  # stoker's own, only while an abandon removes the stack
IN_PROGRESS, COMPLETE, FAILED = "IN_PROGRESS", "COMPLETE", "FAILED"


def joined(action: str, status: str) -> str:
    return f"{action}_{status}"
