-- A sign-up's password travels with its verification token and is set when that link is opened:
-- signing up again with an unverified address (someone else, or the owner who forgot) neither
-- replaces the password nor cancels the earlier link, and whoever opens a link gets the password
-- of the sign-up that link was sent for (no account pre-hijacking through an unverified address).
ALTER TABLE one_time_tokens ADD COLUMN password_hash text;
