"""``POST /api/ws-ticket``: a one-time, 30-second credential for ``/ws/events?ticket=``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.models import ApiToken
from tenancy.ws_tickets import TICKET_TTL, ws_ticket_issue


class WsTicketView(APIView):
    @extend_schema(
        tags=["realtime"], request=None,
        responses={201: inline_serializer("WsTicket", {"ticket": serializers.CharField(),
                                                       "expiresIn": serializers.IntegerField()})},
    )
    def post(self, request):
        token = request.auth if isinstance(request.auth, ApiToken) else None
        ticket = ws_ticket_issue(
            user=request.user, tenant=request.tenant, api_token=token,
            session_key=None if token is not None else request.session.session_key,
        )
        return Response({"ticket": ticket, "expiresIn": int(TICKET_TTL.total_seconds())},
                        status=status.HTTP_201_CREATED)
