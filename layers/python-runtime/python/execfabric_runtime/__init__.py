"""ExecFabric's Python runtime: a warm, pre-forking parent (the zygote) that runs tenant scripts in
sandboxed child processes, and the client the worker uses to drive it.

    with Sandbox() as sandbox:
        outcome = sandbox.run(RunRequest(source=..., input={...}, limits=Limits.parse({...}), ...))
"""

from .check import check
from .limits import Limits, LimitsError
from .sandbox import Outcome, RunRequest, Sandbox, SandboxError

__all__ = ["Limits", "LimitsError", "Outcome", "RunRequest", "Sandbox", "SandboxError", "check"]
