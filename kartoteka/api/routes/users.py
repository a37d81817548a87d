"""Users and groups."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Response

from kartoteka.context import Actor
from kartoteka.users import service

from ..deps import actor, json_body, object_body
from ..responses import Router
from ..schemas import GROUP_BODY, USER_BODY, Id, body_doc

router = Router(tags=["users"])


@router.get("/users", summary="List users")
def list_users(a: Actor = Depends(actor)) -> dict[str, Any]:
    """Users of the workspace."""
    return {"items": service.list_users(a)}


@router.post("/users", status_code=201, summary="Create a user", openapi_extra=body_doc(USER_BODY))
def create_user(a: Actor = Depends(actor), body: Any = Depends(json_body)) -> dict[str, Any]:
    """Create a user (administrators only)."""
    return service.create_user(a, object_body(body))


@router.get("/users/{user_id}", summary="Get a user")
def get_user(user_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """One user."""
    return service.get_user(a, user_id)


@router.patch("/users/{user_id}", summary="Change a user", openapi_extra=body_doc(USER_BODY))
def update_user(
    user_id: Id, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Change a user; deactivation and password changes end their sessions at once."""
    return service.update_user(a, user_id, object_body(body))


@router.delete("/users/{user_id}", status_code=204, summary="Delete a user")
def delete_user(user_id: Id, a: Actor = Depends(actor)) -> Response:
    """Delete a user."""
    service.delete_user(a, user_id)
    return Response(status_code=204)


@router.get("/groups", summary="List groups")
def list_groups(a: Actor = Depends(actor)) -> dict[str, Any]:
    """Groups of the workspace."""
    return {"items": service.list_groups(a)}


@router.post(
    "/groups", status_code=201, summary="Create a group", openapi_extra=body_doc(GROUP_BODY)
)
def create_group(a: Actor = Depends(actor), body: Any = Depends(json_body)) -> dict[str, Any]:
    """Create a group."""
    return service.create_group(a, object_body(body))


@router.get("/groups/{group_id}", summary="Get a group")
def get_group(group_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """One group."""
    return service.get_group(a, group_id)


@router.patch("/groups/{group_id}", summary="Change a group", openapi_extra=body_doc(GROUP_BODY))
def update_group(
    group_id: Id, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Rename a group."""
    return service.update_group(a, group_id, object_body(body))


@router.delete("/groups/{group_id}", status_code=204, summary="Delete a group")
def delete_group(group_id: Id, a: Actor = Depends(actor)) -> Response:
    """Delete a group."""
    service.delete_group(a, group_id)
    return Response(status_code=204)
