"""Task hub state in Azure Storage (Azurite locally), laid out like the Azure Storage
provider of the Durable extension."""

from .store import AzureStore

__all__ = ["AzureStore"]
