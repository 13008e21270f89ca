"""The GraphQL websocket consumer: strawberry's, with the identity of the
connection settled at ``connection_init`` (accounts.identity)."""

from typing import Any

from strawberry.channels import GraphQLWSConsumer
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from accounts.identity import CONNECTION_USER, connection_user
from accounts.tokens import InvalidToken

FORBIDDEN = 4403


class GraphQLConsumer(GraphQLWSConsumer[dict[str, Any], None]):
    async def on_ws_connect(self, context: dict[str, Any]) -> UnsetType | dict[str, object] | None:
        try:
            context[CONNECTION_USER] = await connection_user(
                self.scope, context.get("connection_params")
            )
        except InvalidToken as error:
            await self._refuse(str(error))
        return await super().on_ws_connect(context)

    async def _refuse(self, message: str) -> None:
        """Closes the socket with 4403 on both subprotocols."""
        if await self.pick_websocket_subprotocol(self) != GRAPHQL_WS_PROTOCOL:
            raise ConnectionRejectionError({"message": message})  # strawberry closes with 4403
        # The legacy protocol's handler would close with 1011 (internal error):
        # say why and close here instead, then end the handler as if the client
        # had gone, which it is about to.
        error = {"type": "connection_error", "payload": {"message": message}}
        await self.send(text_data=self.encode_json(error))
        await self.close(code=FORBIDDEN, reason="Forbidden")
        raise WebSocketDisconnected
