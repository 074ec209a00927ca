"""Upload to the lake from the file browser: options, a check that changes nothing, the uploads themselves.

The browser names files by their path relative to Jupyter's root; the domain refuses
anything outside it (symbolic links included).
"""

from __future__ import annotations

from ..domain import upload, upload_checks
from ..errors import ConfigurationError
from .handlers import BaseHandler
from .http_errors import api


class UploadHandlerBase(BaseHandler):
    def root(self) -> str:
        root = self.settings.get("server_root_dir")
        if not root:
            raise ConfigurationError("this Jupyter server has no root directory to upload from", field="root_dir")
        return str(root)


class UploadOptionsHandler(UploadHandlerBase):
    @api
    async def get(self, instance: str) -> None:
        self.reply(await upload_checks.upload_options(self.session(instance)))


class UploadCheckHandler(UploadHandlerBase):
    """What an upload would do (checksums, identical files, taken names, dataset, quota); changes nothing."""

    @api
    async def post(self, instance: str) -> None:
        found = self.instance(instance)
        self.reply(await upload_checks.check_upload(found.session, found.uploads, self.root(), self.body()))


class UploadsHandler(UploadHandlerBase):
    @api
    async def get(self, instance: str) -> None:
        self.reply({"uploads": upload.upload_progress(self.instance(instance).uploads, None)})

    @api
    async def post(self, instance: str) -> None:
        found = self.instance(instance)
        job = await upload.start_upload(found.session, found.uploads, self.root(), self.body())
        self.reply({"upload": job.progress()}, status=202)


class UploadHandler(UploadHandlerBase):
    @api
    async def get(self, instance: str, upload_id: str) -> None:
        (progress,) = upload.upload_progress(self.instance(instance).uploads, upload_id)
        self.reply({"upload": progress})

    @api
    async def delete(self, instance: str, upload_id: str) -> None:
        self.reply({"upload": upload.cancel_upload(self.instance(instance).uploads, upload_id)})


def upload_routes(instance: str) -> list[tuple[str, type[BaseHandler]]]:
    return [
        (instance + r"/upload/options", UploadOptionsHandler),
        (instance + r"/upload/check", UploadCheckHandler),
        (instance + r"/uploads", UploadsHandler),
        (instance + r"/uploads/(?P<upload_id>[^/]+)", UploadHandler),  # any id: an unknown one gets a JSON 404
    ]
