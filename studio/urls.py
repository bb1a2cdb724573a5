from django.contrib.auth import views as auth_views
from django.urls import path

from . import (login, views, views_admin, views_asset, views_download, views_focus, views_generative, views_library,
               views_named, views_refiner, views_studio)

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", login.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Media Library
    path("library/", views_library.library_page, name="library"),
    path("library/-/bulk/", views_library.bulk, name="library-bulk"),
    path("library/-/upload/", views_library.upload, name="library-upload"),
    path("library/-/download/", views_download.library_download, name="library-download"),
    path("library/-/trash/", views_asset.trash, name="trash"),
    path("library/-/trash/restore/", views_asset.restore_deleted, name="trash-restore"),
    path("library/<path:folder>/", views_library.library_page, name="library-folder"),
    # One asset
    path("assets/<str:asset_id>/", views_asset.asset_page, name="asset"),
    path("assets/<str:asset_id>/preview/", views_download.asset_preview, name="asset-preview"),
    path("assets/<str:asset_id>/download/", views_download.asset_download, name="asset-download"),
    path("assets/<str:asset_id>/tags/", views_asset.edit_tags, name="asset-tags"),
    path("assets/<str:asset_id>/context/", views_asset.edit_context, name="asset-context"),
    path("assets/<str:asset_id>/restore/", views_asset.restore, name="asset-restore"),
    path("assets/<str:asset_id>/derived/delete/", views_asset.delete_derived, name="asset-derived-delete"),
    # Studio editor and named transformations
    path("studio/", views_studio.studio_home, name="studio-home"),
    path("studio/<str:asset_id>/", views_studio.studio, name="studio"),
    path("studio/<str:asset_id>/save/", views_studio.save_named, name="studio-save"),
    path("studio/<str:asset_id>/refine/background/", views_refiner.refine_background, name="refine-background"),
    path("studio/<str:asset_id>/refine/focus/", views_focus.refine_focus, name="refine-focus"),
    path("studio/<str:asset_id>/refine/generative/", views_generative.refine_generative, name="refine-generative"),
    path("studio/<str:asset_id>/refine/generative/generate/", views_generative.generate,
         name="refine-generative-generate"),
    path("studio/<str:asset_id>/refine/generative/batch/<str:batch_id>/", views_generative.batch,
         name="refine-generative-batch"),
    path("studio/<str:asset_id>/refine/generative/choose/", views_generative.choose, name="refine-generative-choose"),
    path("studio/<str:asset_id>/refine/background/status/", views_refiner.status, name="refine-background-status"),
    path("studio/<str:asset_id>/refine/background/<str:name>/", views_refiner.layer,
         name="refine-background-layer"),
    path("transformations/", views_named.named_list, name="named"),
    path("transformations/<str:name>/", views_named.named_edit, name="named-edit"),
    path("transformations/<str:name>/strict/", views_named.named_strict, name="named-strict"),
    path("transformations/<str:name>/delete/", views_named.named_delete, name="named-delete"),
    # Administration (admin role)
    path("admin/users/", views_admin.users, name="users"),
    path("admin/users/<int:user_id>/", views_admin.user_edit, name="user-edit"),
    path("admin/keys/", views_admin.api_keys, name="api-keys"),
    path("admin/keys/<int:key_id>/rotate/", views_admin.api_key_rotate, name="api-key-rotate"),
    path("admin/keys/<int:key_id>/revoke/", views_admin.api_key_revoke, name="api-key-revoke"),
    path("admin/presets/", views_admin.presets, name="presets"),
    path("admin/presets/<int:preset_id>/", views_admin.preset_edit, name="preset-edit"),
    path("admin/presets/<int:preset_id>/delete/", views_admin.preset_delete, name="preset-delete"),
    path("admin/settings/", views_admin.runtime_settings, name="settings"),
]
