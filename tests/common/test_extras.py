"""The one "extra not installed" check: installed modules pass, a missing one names the extra to install."""

import pytest

from antbee.common.errors import UsageError
from antbee.common.extras import installed, require


def test_an_installed_module_passes_and_a_missing_one_names_the_extra():
    require("json", "mqtt", "--mqtt")
    with pytest.raises(UsageError) as caught:
        require("antbee_no_such_module.client", "mqtt", "--mqtt", "no-such-package")
    assert str(caught.value) == "--mqtt needs no-such-package (not installed): pip install 'antbee[mqtt]'"


def test_a_dotted_name_under_a_missing_package_is_not_installed():
    assert installed("json.decoder") and not installed("antbee_no_such_module.client")
