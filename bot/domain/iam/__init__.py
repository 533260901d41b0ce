"""IAM policies evaluated in pure Python: documents, conditions, identity permissions, trust."""
