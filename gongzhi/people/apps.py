from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "gongzhi.people"
    label = "people"
    verbose_name = _("People and organisations")

    def ready(self) -> None:
        from gongzhi.core.crypto import register_encrypted_field

        from . import sessions  # noqa: F401  (stamps the login time for the idle timeout)

        register_encrypted_field("people.Resident", "id_card_ciphertext", digest_field="id_card_digest")
        register_encrypted_field("people.TwoFactorDevice", "secret_ciphertext")
