"""Mail: templates rendered with Jinja2, sent over SMTP (aiosmtplib) or written to `.eml` files."""
