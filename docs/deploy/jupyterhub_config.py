# JupyterHub configuration pieces for escape-dlaas (docs/deploy-jupyterhub.md).
# Loaded by tests/unit/test_deploy_guides.py with JupyterHub's own config loader, so that
# this file and the product cannot drift apart. Site values come from the environment.
import os

from escape_dlaas.auth.hub_refresh import refresh_ahead

c = get_config()  # noqa: F821 - provided by JupyterHub's config loader

# --- Authenticator: users log in at the VO's IAM (authorization-code flow) -----------------
IAM = os.environ.get("IAM_URL", "https://iam-escape.cloud.cnaf.infn.it").rstrip("/")
c.JupyterHub.authenticator_class = "generic-oauth"
c.GenericOAuthenticator.client_id = os.environ.get("IAM_CLIENT_ID", "escape-jupyterhub")
c.GenericOAuthenticator.client_secret = os.environ.get("IAM_CLIENT_SECRET", "")  # from a Kubernetes secret
c.GenericOAuthenticator.oauth_callback_url = os.environ.get(
    "HUB_CALLBACK_URL", "https://hub.example.org/hub/oauth_callback"
)
c.GenericOAuthenticator.authorize_url = f"{IAM}/authorize"
c.GenericOAuthenticator.token_url = f"{IAM}/token"
c.GenericOAuthenticator.userdata_url = f"{IAM}/userinfo"
# offline_access: IAM returns a refresh token, without which the hub cannot renew anything.
c.GenericOAuthenticator.scope = ["openid", "profile", "email", "offline_access", "wlcg.groups"]
c.GenericOAuthenticator.username_claim = "preferred_username"
c.GenericOAuthenticator.allow_all = True  # or allowed_groups / claim_groups_key for a VO's groups
# A private CA (a test IAM): the hub must trust it for the token and userinfo calls.
if os.environ.get("IAM_CA_BUNDLE"):
    c.GenericOAuthenticator.http_request_kwargs = {"ca_certs": os.environ["IAM_CA_BUNDLE"]}

# --- auth_state: the user's tokens, encrypted at rest (JUPYTERHUB_CRYPT_KEY must be set) ----
c.GenericOAuthenticator.enable_auth_state = True

# --- Refresh: renew the access token before it expires --------------------------------------
# The hub looks every auth_refresh_age seconds (on the user's and the user's server's
# requests) and renews with less than the margin left (at most half the token's life).
# Keep auth_refresh_age well below the margin: a server then always reads a token with at
# least (margin - auth_refresh_age) seconds to live.
c.GenericOAuthenticator.auth_refresh_age = 60
c.GenericOAuthenticator.refresh_pre_spawn = True
c.GenericOAuthenticator.refresh_user_hook = refresh_ahead(margin_seconds=300)

# --- Roles: a user's server may read its own user's auth state, and nobody else's -----------
# A token never has more than its owner, so the user role needs the scope as well.
c.JupyterHub.load_roles = [
    {"name": "user", "scopes": ["self", "admin:auth_state!user"]},
    {
        "name": "server",
        "scopes": ["users:activity!user", "access:servers!server", "read:users:name!user", "admin:auth_state!user"],
    },
]
