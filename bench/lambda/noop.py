"""The bench's Python no-op Lambda function (runtime python3.x, handler noop.handler)."""


def handler(event, context):
    return {}
