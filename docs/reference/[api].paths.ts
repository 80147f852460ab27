/**
 * The API reference pages: per API an overview (`/reference/tenant`, `/governance`, `/free`) and a
 * page per tag (`/reference/tenant-runs`, …), made from its OpenAPI document.
 */
import { API_NAMES, apiDocuments, referencePages } from '../.vitepress/api.ts';

export default {
  async paths() {
    const documents = await apiDocuments();
    return API_NAMES.flatMap((api) =>
      referencePages(api, documents[api]).map((page) => ({
        params: { api: page.slug },
        content: page.markdown,
      })),
    );
  },
};
