/** The API reference pages (`/reference/tenant`, `/governance`, `/free`), one per OpenAPI document. */
import { API_NAMES, apiDocuments, referencePage } from '../.vitepress/api.ts';

export default {
  paths() {
    const documents = apiDocuments();
    return API_NAMES.map((api) => ({ params: { api }, content: referencePage(api, documents[api]) }));
  },
};
