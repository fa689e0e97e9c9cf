"""Errors the service raises; the API turns each into Heat's error body with its HTTP code."""


class ServiceError(Exception):
    code = 500
    title = "Internal Server Error"
    explanation = "The server has either erred or is incapable of performing the requested operation."

    def __init__(self, message: str, error_type: str | None = None):
        super().__init__(message)
        self.message = message
        self.error_type = error_type or type(self).__name__


class InvalidInput(ServiceError):
    code = 400
    title = "Bad Request"
    explanation = ("The server could not comply with the request since it is either malformed "
                   "or otherwise incorrect.")


class Unauthorized(ServiceError):
    code = 401
    title = "Unauthorized"
    explanation = "This server could not verify that you are authorized to access the document you requested."


class Forbidden(ServiceError):
    code = 403
    title = "Forbidden"
    explanation = "Access was denied to this resource."


class NotFound(ServiceError):
    code = 404
    title = "Not Found"
    explanation = "The resource could not be found."


class Conflict(ServiceError):
    code = 409
    title = "Conflict"
    explanation = "There was a conflict when trying to complete your request."


class PayloadTooLarge(ServiceError):
    code = 413
    title = "Request Entity Too Large"
    explanation = "The request body is larger than the server accepts."
