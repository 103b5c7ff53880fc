# Access restrictions of contoso-shop, written by acl convert for azurerm 3.95 or later.
# Only the arguments that bear on access restrictions are here: copy
# public_network_access_enabled and the site_config block into the real resource.
resource "azurerm_linux_web_app" "contoso-shop" {
  public_network_access_enabled = true

  site_config {
    ip_restriction_default_action     = "Deny"
    scm_ip_restriction_default_action = "Deny"
    scm_use_main_ip_restriction       = false

    ip_restriction {
      name        = "front-door"
      priority    = 100
      action      = "Allow"
      service_tag = "AzureFrontDoor.Backend"
      description = "Only our own Front Door profile"
      headers {
        x_azure_fdid = ["0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"]
      }
    }

    ip_restriction {
      name       = "block-scanner"
      priority   = 50
      action     = "Deny"
      ip_address = "203.0.113.66/32"
    }

    ip_restriction {
      name       = "office"
      priority   = 200
      action     = "Allow"
      ip_address = "203.0.113.0/24,2001:db8:cafe::/48"
    }

    ip_restriction {
      name                      = "jobs-subnet"
      priority                  = 300
      action                    = "Allow"
      virtual_network_subnet_id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/shop-vnet/subnets/jobs"
    }

    scm_ip_restriction {
      name       = "build-agents"
      priority   = 100
      action     = "Allow"
      ip_address = "192.0.2.0/28"
    }
  }
}
