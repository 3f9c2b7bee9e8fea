"""The Command documents each sandbox account holds, as ListDocuments and DescribeDocument show
them, and how SendCommand checks the parameters given for one.

AWS's own documents an account sees number in the dozens (it pages them 50 at a time), so the
sandbox lists the real names with their platforms. Six are carried out for real in the node's
environment: the two script documents, AWS-RunPatchBaseline, AWS-UpdateSSMAgent and
AWS-ConfigureAWSPackage (stand-in scripts that say what the agent would do) and the demo
account's own Ops-CollectFacts. The others are listed only; sent, they fail on the node with a
line that says the sandbox does not carry them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sessiontui_sandbox.ssm_protocol import (
    SsmRequest,
    digest,
    epoch,
    max_results,
    modeled,
    page_offset,
    page_token,
)
from sessiontui_sandbox.state import SandboxState

ALL = ("Windows", "Linux", "MacOS")
UNIX = ("Linux", "MacOS")
WINDOWS = ("Windows",)


@dataclass(frozen=True)
class Document:
    name: str
    owner: str  # "Amazon" for AWS's own; else the account that made it
    platforms: tuple[str, ...]
    plugin: str  # the step's name, as CommandPlugins names it
    parameters: tuple[dict[str, Any], ...] = ()
    script: str = ""  # the script of a document that takes no `commands`
    schema: str = "2.2"
    description: str = ""
    # allowed values per parameter, as the document's content says (DescribeDocument omits them)
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    runs: bool = True  # False: listed as AWS lists it, not carried out by the sandbox


def _param(name: str, kind: str, description: str, default: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": name, "Type": kind, "Description": description}
    if default is not None:
        out["DefaultValue"] = default
    return out


_SCRIPT_PARAMS = (
    _param("commands", "StringList", "(Required) Specify a shell script or a command to run."),
    _param(
        "workingDirectory",
        "String",
        "(Optional) The path to the working directory on your instance.",
        "",
    ),
    _param(
        "executionTimeout",
        "String",
        "(Optional) The time in seconds for a command to complete before it is considered to "
        "have failed. Default is 3600 (1 hour). Maximum is 172800 (48 hours).",
        "3600",
    ),
)

_PATCH = (
    'echo "Patch baseline: pb-0sandbox0000000001 (the default for $(uname -s))"\n'
    'echo "Operation: {{ Operation }}"\n'
    'case "{{ Operation }}" in\n'
    '  Scan) echo "Missing: 0, Installed: 412, Failed: 0";;\n'
    '  Install) echo "Installed: 0 (none missing); RebootOption {{ RebootOption }}: no reboot needed";;\n'
    "esac\n"
)
_AGENT = (
    'wanted="{{ version }}"\n'
    'echo "Updating amazon-ssm-agent on $(hostname) to ${wanted:-the latest version}"\n'
    'echo "amazon-ssm-agent is up to date (allowDowngrade={{ allowDowngrade }})"\n'
)
_PACKAGE = (
    'echo "{{ action }} {{ name }} {{ version }} ({{ installationType }}) on $(hostname)"\n'
    'echo "Successfully {{ action }}ed {{ name }}"\n'
)

AWS_DOCUMENTS: tuple[Document, ...] = (
    Document(
        "AWS-RunShellScript",
        "Amazon",
        UNIX,
        "aws:runShellScript",
        _SCRIPT_PARAMS,
        schema="1.2",
        description="Run a shell script or specify the commands to run.",
    ),
    Document(
        "AWS-RunPowerShellScript",
        "Amazon",
        ALL,
        "aws:runPowerShellScript",
        _SCRIPT_PARAMS,
        schema="1.2",
        description="Run a PowerShell script or specify the paths to scripts to run.",
    ),
    Document(
        "AWS-RunPatchBaseline",
        "Amazon",
        ALL,
        "PatchLinux",
        (
            _param(
                "Operation",
                "String",
                "(Required) The update or configuration to perform on the instance. The system "
                "checks if patches specified in the patch baseline are installed on the instance. "
                "The install operation installs patches missing from the baseline.",
                "Scan",
            ),
            _param(
                "SnapshotId",
                "String",
                "(Optional) The snapshot ID to use to retrieve a patch baseline snapshot.",
                "",
            ),
            _param(
                "InstallOverrideList",
                "String",
                "(Optional) An https URL or an Amazon S3 path-style URL to the list of patches "
                "to be installed. This patch installation list overrides the patches specified "
                "by the default patch baseline.",
                "",
            ),
            _param(
                "RebootOption",
                "String",
                "(Optional) Reboot behavior after a patch Install operation. If you choose "
                "NoReboot and patches are installed, the instance is marked as non-compliant "
                "until a subsequent reboot and scan.",
                "RebootIfNeeded",
            ),
        ),
        script=_PATCH,
        description="Scans for or installs patches from a patch baseline to a Linux or Windows "
        "operating system.",
        allowed={"Operation": ("Scan", "Install"), "RebootOption": ("RebootIfNeeded", "NoReboot")},
    ),
    Document(
        "AWS-UpdateSSMAgent",
        "Amazon",
        ALL,
        "aws:updateSsmAgent",
        (
            _param(
                "version",
                "String",
                "(Optional) The version of SSM Agent to install or downgrade to. If you do not "
                "specify a version, the agent is updated to the latest version.",
                "",
            ),
            _param(
                "allowDowngrade",
                "String",
                "(Optional) Allow the SSM Agent to be downgraded to an earlier version. If set "
                "to false, the agent can be upgraded only (default).",
                "false",
            ),
        ),
        script=_AGENT,
        schema="1.2",
        description="Update the Amazon SSM Agent to the specified version or the latest version.",
        allowed={"allowDowngrade": ("true", "false")},
    ),
    Document(
        "AWS-ConfigureAWSPackage",
        "Amazon",
        ALL,
        "configurePackage",
        (
            _param(
                "action",
                "String",
                "(Required) Specify whether or not to install or uninstall the package.",
            ),
            _param(
                "installationType",
                "String",
                "(Optional) Specify the type of installation. Uninstall and reinstall: The "
                "application is taken offline until the reinstallation process completes. "
                "In-place update: The application is available while new or updated files are "
                "added to the installation.",
                "Uninstall and reinstall",
            ),
            _param(
                "name",
                "String",
                "(Required) The package to install/uninstall.",
            ),
            _param(
                "version",
                "String",
                "(Optional) The version of the package to install or uninstall. If you don't "
                "specify a version, the system installs the latest published version by default.",
                "",
            ),
        ),
        script=_PACKAGE,
        description="Install or uninstall a Distributor package.",
        allowed={
            "action": ("Install", "Uninstall"),
            "installationType": ("Uninstall and reinstall", "In-place update"),
        },
    ),
)

# AWS's other Command documents an account sees: listed as AWS lists them, not carried out
_LISTED = {
    "AWS-ApplyAnsiblePlaybooks": UNIX,
    "AWS-ApplyChefRecipes": ALL,
    "AWS-ApplyDSCMofs": WINDOWS,
    "AWS-ApplyPatchBaseline": WINDOWS,
    "AWS-ConfigureCloudWatch": WINDOWS,
    "AWS-ConfigureDocker": ALL,
    "AWS-ConfigureKernelLivePatching": ("Linux",),
    "AWS-ConfigureWindowsUpdate": WINDOWS,
    "AWS-FindWindowsUpdates": WINDOWS,
    "AWS-GatherSoftwareInventory": ALL,
    "AWS-InstallApplication": WINDOWS,
    "AWS-InstallMissingWindowsUpdates": WINDOWS,
    "AWS-InstallPowerShellModule": WINDOWS,
    "AWS-InstallSpecificWindowsUpdates": WINDOWS,
    "AWS-InstallWindowsUpdates": WINDOWS,
    "AWS-JoinDirectoryServiceDomain": WINDOWS,
    "AWS-ListWindowsInventory": WINDOWS,
    "AWS-RefreshAssociation": ALL,
    "AWS-RunAnsiblePlaybook": ("Linux",),
    "AWS-RunDocument": ALL,
    "AWS-RunInspecChecks": ALL,
    "AWS-RunPatchBaselineAssociation": ALL,
    "AWS-RunPatchBaselineWithHooks": UNIX,
    "AWS-RunRemoteScript": ALL,
    "AWS-RunSaltState": ("Linux",),
    "AWS-UpdateEC2Config": WINDOWS,
    "AWSEC2-ConfigureSTIG": ALL,
    "AWSEC2-CreateVssSnapshot": WINDOWS,
    "AWSEC2-ManageVssIO": WINDOWS,
    "AWSEC2-RunSysprep": WINDOWS,
    "AWSFleetManager-AddUsersToGroup": WINDOWS,
    "AWSFleetManager-CreateGroup": ALL,
    "AWSFleetManager-CreateUser": ALL,
    "AWSFleetManager-DeleteGroup": ALL,
    "AWSFleetManager-DeleteUser": ALL,
    "AWSFleetManager-GetDiskInformation": ALL,
    "AWSFleetManager-GetFileContent": ALL,
    "AWSFleetManager-GetFileSystemContent": ALL,
    "AWSFleetManager-GetGroups": ALL,
    "AWSFleetManager-GetPerformanceCounters": ALL,
    "AWSFleetManager-GetProcessDetails": ALL,
    "AWSFleetManager-GetUsers": ALL,
    "AWSFleetManager-GetWindowsEvents": WINDOWS,
    "AWSFleetManager-MountVolume": WINDOWS,
    "AWSFleetManager-RemoveUsersFromGroup": ALL,
    "AWSFleetManager-ResetUserPassword": ALL,
    "AWSFleetManager-StartProcess": ALL,
    "AWSFleetManager-TerminateProcess": ALL,
    "AWSSupport-ManageRDPSettings": WINDOWS,
    "AWSSupport-ManageWindowsService": WINDOWS,
    "AWSSupport-RunEC2RescueForWindowsTool": WINDOWS,
    "AmazonCloudWatch-ManageAgent": ALL,
    "AmazonInspector-ManageAWSAgent": ALL,
}
LISTED_DOCUMENTS = tuple(
    Document(name, "Amazon", platforms, "aws:runDocument", runs=False)
    for name, platforms in _LISTED.items()
)

FACTS_DOCUMENT = "Ops-CollectFacts"


def _account_documents(account: str) -> tuple[Document, ...]:
    """The demo's own document, one each account holds: a fact collector with one parameter."""
    return (
        Document(
            FACTS_DOCUMENT,
            account,
            UNIX,
            "collectFacts",
            (_param("section", "String", "(Optional) Which facts: all, os or disk.", "all"),),
            script=(
                'echo "host: $(hostname)"\n'
                'case "{{ section }}" in\n'
                '  os|all) echo "kernel: $(uname -sr)";;\n'
                "esac\n"
                'case "{{ section }}" in\n'
                '  disk|all) echo "disk: $(df -P . | tail -1 | tr -s " " | cut -d" " -f4) free";;\n'
                "esac\n"
            ),
            description="Collects a few facts about the node (sessiontui demo).",
            allowed={"section": ("all", "os", "disk")},
        ),
    )


def documents_for(account: str) -> tuple[Document, ...]:
    found = AWS_DOCUMENTS + LISTED_DOCUMENTS + _account_documents(account)
    return tuple(sorted(found, key=lambda d: d.name))


def find_document(account: str, name: str) -> Document | None:
    return next((d for d in documents_for(account) if d.name == name), None)


def check_parameters(document: Document, given: Any) -> dict[str, list[str]]:
    """SendCommand's Parameters for `document`, defaults filled in; InvalidParameters as AWS
    answers for a name the document lacks, a required one missing or a value not allowed."""
    if given is not None and not isinstance(given, dict):
        raise modeled("InvalidParameters", "Parameters must be a map of lists of strings.")
    out = {str(k): [str(x) for x in (v or [])] for k, v in (given or {}).items()}
    known = {p["Name"] for p in document.parameters}
    for name in out:
        if name not in known:
            raise modeled("InvalidParameters", f"Parameter {name} is not in the document.")
    if "commands" in known and not any(line.strip() for line in out.get("commands", [])):
        raise modeled("InvalidParameters", "Parameter commands must have a value.")
    for p in document.parameters:
        if p["Name"] not in out and "DefaultValue" not in p and p["Name"] != "commands":
            raise modeled("InvalidParameters", f"Parameter {p['Name']} is required.")
    for name, allowed in document.allowed.items():
        for value in out.get(name, []):
            if value not in allowed:
                raise modeled(
                    "InvalidParameters",
                    f"Parameter {name} value {value} is not one of: {', '.join(allowed)}.",
                )
    timeout = (out.get("executionTimeout") or ["3600"])[0]
    if "executionTimeout" in out and not (timeout.isdigit() and 1 <= int(timeout) <= 172800):
        raise modeled(
            "InvalidParameters",
            f"Parameter executionTimeout value {timeout} does not match the allowed pattern.",
        )
    for p in document.parameters:
        if p["Name"] not in out and "DefaultValue" in p:
            out[p["Name"]] = [p["DefaultValue"]]
    return out


def _document_matches(doc: Document, key: str, values: list[str]) -> bool:
    if key == "Name":
        return doc.name in values
    if key == "Owner":
        owner = "Amazon" if doc.owner == "Amazon" else "Self"
        return any(v in (owner, "All") or (v == "Private" and owner == "Self") for v in values)
    if key == "PlatformTypes":
        return any(v in doc.platforms for v in values)
    if key == "DocumentType":
        return "Command" in values
    if key == "SearchKeyword":
        return any(v.casefold() in doc.name.casefold() for v in values)
    return True


def list_documents(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    params = req.params
    limit = max_results(params, 1, 50, 50)
    checks: list[tuple[str, list[str]]] = []
    for item in params.get("Filters") or []:
        checks.append((str(item.get("Key", "")), [str(v) for v in item.get("Values") or []]))
    for item in params.get("DocumentFilterList") or []:
        checks.append((str(item.get("key", "")), [str(item.get("value", ""))]))
    digested = digest(req, params.get("Filters"), params.get("DocumentFilterList"))
    offset = page_offset(state, params["NextToken"], digested) if "NextToken" in params else 0
    created = epoch(state.now().replace(hour=0, minute=0, second=0, microsecond=0))
    rows = [
        {
            "Name": d.name,
            "CreatedDate": created,
            "Owner": d.owner,
            "PlatformTypes": list(d.platforms),
            "DocumentVersion": "1",
            "DocumentType": "Command",
            "SchemaVersion": d.schema,
            "DocumentFormat": "JSON",
            "TargetType": "/AWS::EC2::Instance" if d.owner == "Amazon" else "",
            "Tags": [],
        }
        for d in documents_for(req.account)
        if all(_document_matches(d, k, v) for k, v in checks)
    ]
    out: dict[str, Any] = {"DocumentIdentifiers": rows[offset : offset + limit]}
    if offset + limit < len(rows):
        out["NextToken"] = page_token(state, offset + limit, digested)
    return out


def describe_document(state: SandboxState, req: SsmRequest) -> dict[str, Any] | None:
    """The Command documents' parameters; any other document is moto's."""
    name = req.params.get("Name")
    doc = find_document(req.account, name if isinstance(name, str) else "")
    if doc is None:
        return None
    return {
        "Document": {
            "Name": doc.name,
            "Owner": doc.owner,
            "Status": "Active",
            "DocumentVersion": "1",
            "LatestVersion": "1",
            "DefaultVersion": "1",
            "Description": doc.description,
            "Parameters": [dict(p) for p in doc.parameters],
            "PlatformTypes": list(doc.platforms),
            "DocumentType": "Command",
            "SchemaVersion": doc.schema,
            "DocumentFormat": "JSON",
            "HashType": "Sha256",
        }
    }
