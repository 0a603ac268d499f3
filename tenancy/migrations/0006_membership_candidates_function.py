"""One round trip instead of three for choosing the caller's tenant
(tenancy.selectors.membership_choose): set the user (the member_self policy lets
them read their own memberships), read the candidates, and set the tenant when
the choice is certain. PL/pgSQL runs its statements in order, which one SQL
statement combining set_config and the read would not promise. The function
runs as its caller: RLS applies to every read.

The candidates, each tagged with why it is one: the membership in ``p_wanted``
(X-Tenant-ID), else the one in ``p_default`` (the token's default tenant), else
the two oldest — what the rule in Python chooses among. A ``wanted`` or
``default`` membership, when there is one, is always the one chosen: the
function scopes the transaction to its tenant itself. Among the ``oldest`` the
rule (one, or the first when the caller allows several) stays in Python, which
then sets the tenant."""

from django.db import migrations

from core.rls import PostgresOnlySQL

FUNCTION = """
CREATE OR REPLACE FUNCTION hub_membership_candidates(p_user uuid, p_wanted uuid, p_default uuid)
RETURNS TABLE (r_kind text, m_id uuid, m_tenant_id uuid, m_user_id uuid, m_role varchar, m_created_at timestamptz,
               t_id uuid, t_name varchar, t_slug varchar, t_is_active boolean, t_created_at timestamptz)
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('app.current_user_id', p_user::text, true);
    IF COALESCE(p_wanted, p_default) IS NOT NULL THEN
        RETURN QUERY
            SELECT CASE WHEN p_wanted IS NOT NULL THEN 'wanted' ELSE 'default' END, m.id, m.tenant_id, m.user_id,
                   m.role, m.created_at, t.id, t.name, t.slug, t.is_active, t.created_at
              FROM memberships m JOIN tenants t ON t.id = m.tenant_id
             WHERE m.user_id = p_user AND t.is_active AND m.tenant_id = COALESCE(p_wanted, p_default);
        IF FOUND THEN
            PERFORM set_config('app.current_tenant_id', COALESCE(p_wanted, p_default)::text, true);
            RETURN;
        END IF;
        IF p_wanted IS NOT NULL THEN
            RETURN;  -- a tenant asked for (X-Tenant-ID) that is not the user's: no other is offered
        END IF;
    END IF;
    RETURN QUERY
        SELECT 'oldest', o.* FROM (
            SELECT m.id, m.tenant_id, m.user_id, m.role, m.created_at, t.id, t.name, t.slug, t.is_active, t.created_at
              FROM memberships m JOIN tenants t ON t.id = m.tenant_id
             WHERE m.user_id = p_user AND t.is_active
             ORDER BY m.created_at LIMIT 2) o;
END
$$
"""


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0005_admin_hebrew")]

    operations = [
        PostgresOnlySQL(FUNCTION, "DROP FUNCTION IF EXISTS hub_membership_candidates(uuid, uuid, uuid)"),
    ]
