"""The seed's flow, driven by a client that openapi-python-client generated from the document
the service serves (tests/e2e/contract.rs generates it into a temporary `switchboard_client`
package first): the operator creates a tenant, the tenant defines the plumbing tool, the
receptionist invokes it. Unset optionals are sent as `null`, as generated clients do.

Usage: seed_flow.py BASE_URL OPERATOR_TOKEN WEBHOOK_URL
"""

import sys

from switchboard_client import AuthenticatedClient
from switchboard_client.api.agents import invoke_tool
from switchboard_client.api.operator import create_tenant
from switchboard_client.api.tools import create_tool
from switchboard_client.models import (
    CreatedTenant,
    CreateTenant,
    InvocationResult,
    InvokeRequest,
    InvokeToolAgent,
    Method,
    Param,
    ParamType,
    Plan,
    Tool,
    ToolSpec,
)


def main(base_url: str, operator_token: str, webhook_url: str) -> None:
    operator = AuthenticatedClient(base_url=base_url, token=operator_token)
    created = create_tenant.sync_detailed(
        client=operator, body=CreateTenant(name="Bay Plumbing", plan=Plan.PLUS)
    )
    assert created.status_code == 201, created
    tenant = created.parsed
    assert isinstance(tenant, CreatedTenant), tenant

    manage = AuthenticatedClient(base_url=base_url, token=tenant.api_key)
    spec = ToolSpec(
        name="Check availability in area",
        description="Checks whether we service the caller's area and when we can come.",
        url=f"{webhook_url}/areas/check",
        method=Method.POST,
        body_params=[
            Param(key="zip_code", type_=ParamType.STRING, required=True,
                  description="The caller's 5-digit zip code", enum=None),
            Param(key="service_type", type_=ParamType.STRING, required=True,
                  description="What they need", sensitive=None),
        ],
        # Explicit nulls: what a generated client sends for optionals it was given as None.
        headers=None,
        transforms=None,
        signing_secret=None,
        response_timeout_secs=None,
    )
    defined = create_tool.sync_detailed(client=manage, body=spec)
    assert defined.status_code == 201, defined
    tool = defined.parsed
    assert isinstance(tool, Tool), tool
    assert tool.function_id == "check_availability_in_area", tool
    assert tool.response_timeout_secs == 20, tool

    invoked = invoke_tool.sync_detailed(
        agent=InvokeToolAgent.RECEPTIONIST,
        client=manage,
        body=InvokeRequest(
            tool=tool.function_id,
            arguments={"zip_code": "94107", "service_type": "leak"},
            call_id=None,
            conversation_id=None,
        ),
    )
    assert invoked.status_code == 200, invoked
    result = invoked.parsed
    assert isinstance(result, InvocationResult), result
    assert result.ok, result
    assert result.result == {"serviced": True, "next_slot": "Tuesday 9am"}, result
    print(f"tenant: {tenant.id}; tool: {tool.id}; call: {result.call_id}")
    print(f"spoken: {result.speech!r}; result: {result.result}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
