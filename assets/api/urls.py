from django.urls import path, re_path

from . import (admin_account, admin_delete, admin_folders, admin_mappings, admin_metadata, admin_presets,
               admin_resources, search)
from .upload import ArchiveApiView, UploadApiView

ADMIN = "v1_1/<str:cloud_name>/"

# Admin API routes come first: the more specific resources/... patterns before the general ones.
admin_urlpatterns = [
    path(ADMIN + "ping", admin_account.PingView.as_view(), name="admin-ping"),
    path(ADMIN + "usage", admin_account.UsageView.as_view(), name="admin-usage"),
    path(ADMIN + "usage/<str:date>", admin_account.UsageView.as_view(), name="admin-usage-date"),
    path(ADMIN + "tags/<str:resource_type>", admin_account.TagsView.as_view(), name="admin-tags"),
    path(ADMIN + "resources", admin_delete.ResourcesRootView.as_view(), name="admin-resources-root"),
    # Search API (assets/api/search.py): before resources/<resource_type> and folders/<path>,
    # which would otherwise take "search" as a resource type or a folder to create.
    path(ADMIN + "resources/search", search.ResourcesSearchView.as_view(), name="admin-search"),
    path(ADMIN + "folders/search", search.FoldersSearchView.as_view(), name="admin-folders-search"),
    # restore by asset_id, publish, upload mappings, config (issue 15): before resources/<resource_type>[/<type>]
    path(ADMIN + "resources/restore", admin_delete.RestoreByAssetIdsView.as_view(), name="admin-restore-by-asset-ids"),
    path(ADMIN + "resources/<str:resource_type>/publish_resources", admin_delete.PublishResourcesView.as_view(),
         name="admin-publish-resources"),
    path(ADMIN + "upload_mappings", admin_mappings.UploadMappingsView.as_view(), name="admin-upload-mappings"),
    path(ADMIN + "config", admin_account.ConfigView.as_view(), name="admin-config"),
    re_path(r"^v1_1/(?P<cloud_name>[^/]+)/resources/(?P<asset_id>[0-9a-f]{32})$",
            admin_delete.ResourceByAssetIdOrPlaceholderView.as_view(), name="admin-resource-by-asset-id"),
    path(ADMIN + "resources/<str:resource_type>/tags/<path:tag>", admin_delete.ResourcesByTagAndDeleteView.as_view(),
         name="admin-resources-by-tag"),
    path(ADMIN + "resources/<str:resource_type>/context", admin_resources.ResourcesByContextView.as_view(),
         name="admin-resources-by-context"),
    path(ADMIN + "resources/<str:resource_type>/<str:type>/<path:public_id>",
         admin_delete.ResourceAndRestoreView.as_view(), name="admin-resource"),
    path(ADMIN + "resources/<str:resource_type>/<str:type>", admin_delete.ResourcesView.as_view(),
         name="admin-resources-type"),
    path(ADMIN + "resources/<str:resource_type>", admin_delete.ResourcesView.as_view(), name="admin-resources"),
    path(ADMIN + "derived_resources", admin_delete.DerivedResourcesView.as_view(), name="admin-derived-resources"),
    path(ADMIN + "folders", admin_folders.RootFoldersView.as_view(), name="admin-folders"),
    path(ADMIN + "folders/<path:path>", admin_folders.FolderView.as_view(), name="admin-folder"),
    path(ADMIN + "upload_presets", admin_presets.PresetListView.as_view(), name="admin-presets"),
    path(ADMIN + "upload_presets/<str:name>", admin_presets.PresetView.as_view(), name="admin-preset"),
    # structured metadata fields (issue 15): "order" before the field's own route
    path(ADMIN + "metadata_fields", admin_metadata.FieldsView.as_view(), name="admin-metadata-fields"),
    path(ADMIN + "metadata_fields/order", admin_metadata.FieldsOrderView.as_view(), name="admin-metadata-order"),
    path(ADMIN + "metadata_fields/<str:external_id>", admin_metadata.FieldView.as_view(),
         name="admin-metadata-field"),
    path(ADMIN + "metadata_fields/<str:external_id>/datasource", admin_metadata.DatasourceView.as_view(),
         name="admin-metadata-datasource"),
    path(ADMIN + "metadata_fields/<str:external_id>/datasource/order", admin_metadata.DatasourceOrderView.as_view(),
         name="admin-metadata-datasource-order"),
    path(ADMIN + "metadata_fields/<str:external_id>/datasource_restore",
         admin_metadata.DatasourceRestoreView.as_view(), name="admin-metadata-datasource-restore"),
]

urlpatterns = admin_urlpatterns + [
    # generate_archive: POST, and the signed GET of download_archive_url (assets/api/archive.py)
    re_path(r"^v1_1/(?P<cloud_name>[^/]+)/(?P<resource_type>image|auto|video|raw)/generate_archive$",
            ArchiveApiView.as_view(), name="upload-api-archive"),
    # Upload API, POST only; restricted to resource types so it never shadows other 3-segment routes.
    re_path(r"^v1_1/(?P<cloud_name>[^/]+)/(?P<resource_type>image|auto|video|raw)/(?P<action>[^/]+)$",
            UploadApiView.as_view(), name="upload-api"),
]
