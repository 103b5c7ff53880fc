resource "azurerm_app_service" "legacy" {
  name                = "contoso-legacy"
  location            = "westeurope"
  resource_group_name = "legacy"
  app_service_plan_id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/legacy/providers/Microsoft.Web/serverfarms/plan"

  site_config {
    scm_use_main_ip_restriction = true

    ip_restriction {
      name       = "office"
      priority   = 100
      ip_address = "198.51.100.0/24"
    }

    ip_restriction {
      name      = "jobs"
      priority  = 200
      subnet_id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/shop-vnet/subnets/jobs"
    }
  }
}
